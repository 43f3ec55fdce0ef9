# sanity check for 4(a): count the parameters of both constructions
import torch
import torch.nn as nn

from stm import STMConvLayer


class MyConvLayer(nn.Module):
    def __init__(self):
        super(MyConvLayer, self).__init__()
        self.conv1 = nn.Conv2d(256, 128, 1,)
        self.conv2 = nn.Conv2d(128, 128, 3, padding=1)
        self.conv3 = nn.Conv2d(128, 256, 1)

    def forward(self, x):
        out = torch.nn.functional.relu(self.conv1(x))
        out = torch.nn.functional.relu(self.conv2(out))
        out = torch.nn.functional.relu(self.conv3(out))
        return out


def n_params(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


if __name__ == "__main__":
    print("naive:", n_params(MyConvLayer()))   # 213504
    print("STM:  ", n_params(STMConvLayer()))  # 78592
    x = torch.randn(4, 256, 14, 14)
    print(STMConvLayer()(x).shape)
