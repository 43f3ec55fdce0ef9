import torch
import torch.nn as nn


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        #-----
        self.convlayers1 = nn.ModuleList([nn.Conv2d(256, 4, 1) for i in range(32)])
        self.convlayers2 = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for i in range(32)])
        self.convlayers3 = nn.ModuleList([nn.Conv2d(4, 256, 1) for i in range(32)])
        #-----

    def forward(self, x):
        #-----
        answer = torch.zeros(x.size())
        for i in range(32):
            out = torch.nn.functional.relu(self.convlayers1[i](x))
            out = torch.nn.functional.relu(self.convlayers2[i](x))
            out = torch.nn.functional.relu(self.convlayers3[i](x))
            answer += out
        out = answer
        #-----
        return out
