import torch
import torch.nn as nn
import torch.nn.functional as F


# Problem 4 (b)
class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        #-----
        # one ModuleList per stage; path i uses convs1[i], convs2[i], convs3[i]
        self.convs1 = nn.ModuleList([nn.Conv2d(256, 4, 1) for i in range(32)])
        self.convs2 = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for i in range(32)])
        self.convs3 = nn.ModuleList([nn.Conv2d(4, 256, 1) for i in range(32)])
        #-----

    def forward(self, x):
        #-----
        answer = torch.zeros_like(x)
        for i in range(32):
            out = F.relu(self.convs1[i](x))
            out = F.relu(self.convs2[i](out))
            out = self.convs3[i](out)  # no ReLU here, the sum is the output
            answer = answer + out
        out = answer
        #-----
        return out
