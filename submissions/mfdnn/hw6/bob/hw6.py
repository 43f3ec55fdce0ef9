import torch
import torch.nn as nn


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        self.conv = nn.ModuleList()
        for _ in range(32):
            self.conv.append(
                nn.Sequential(
                    nn.Conv2d(256, 4, 1, dtype=torch.float), # Specify dtype=torch.float
                    nn.ReLU(),
                    nn.Conv2d(4, 4, 3, padding=1, dtype=torch.float), # Specify dtype=torch.float
                    nn.ReLU(),
                    nn.Conv2d(4, 256, 1, dtype=torch.float) # Specify dtype=torch.float
                )
            )
        def forward(self,x): # x : batched data
            output = torch.zeros(x.shape, dtype=torch.float)
            for path in self.conv:
                output += path(x.float())
            return output


if __name__ == "__main__":
    print(STMConvLayer())
