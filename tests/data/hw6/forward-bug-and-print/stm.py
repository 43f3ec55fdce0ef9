import torch
import torch.nn as nn

print("=" * 60)
print("HW6 problem 4 -- debugging output")
print("torch version:", torch.__version__)
print("=" * 60)


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        print("building STMConvLayer ...")
        self.paths = nn.ModuleList()
        for i in range(32):
            self.paths.append(nn.Sequential(
                nn.Conv2d(256, 4, 1),
                nn.ReLU(),
                nn.Conv2d(4, 4, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(4, 256, 1),
            ))
            print("  added path", i)

    def forward(self, x):
        print("forward: input", tuple(x.shape))
        out = 0
        for i, path in enumerate(self.paths):
            y = path(x)
            print("  path", i, "output", tuple(y.shape), "mean", y.mean().item(), "std", y.std().item())
            out = out + y
        print("forward: output", tuple(out.shape))
        return out


# quick test (I forgot to put this under if __name__ == "__main__")
torch.set_printoptions(profile="full")
model = STMConvLayer()
print(model)
for name, p in model.named_parameters():
    print(name, tuple(p.shape))
    print(p.data)
x = torch.randn(2, 256, 8, 8)
y = model(x)
print(y.shape)
print("num params:", sum(p.numel() for p in model.parameters()))
torch.set_printoptions(profile="default")
