import torch
import torch.nn as nn
from torch.optim import Optimizer
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import transforms

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

'''
Step 1: MNIST data
'''
train_dataset = datasets.MNIST(root='./mnist_data/', train=True, transform=transforms.ToTensor(), download=True)
test_dataset = datasets.MNIST(root='./mnist_data/', train=False, transform=transforms.ToTensor())

train_loader = DataLoader(dataset=train_dataset, batch_size=100, shuffle=True)
test_loader = DataLoader(dataset=test_dataset, batch_size=100, shuffle=False)


'''
Step 2: the C3 layer
'''
class C3_layer_full(nn.Module):
    def __init__(self):
        super(C3_layer_full, self).__init__()
        self.conv_layer = nn.Conv2d(6, 16, 5)

    def forward(self, x):
        assert x.shape[1] == 6
        return self.conv_layer(x)


class C3_layer(nn.Module):
    def __init__(self):
        super(C3_layer, self).__init__()
        self.ch_in_3 = [[0, 1, 2],
                        [1, 2, 3],
                        [2, 3, 4],
                        [3, 4, 5],
                        [0, 4, 5],
                        [0, 1, 5]]  # filter with 3 subset of input channels
        self.ch_in_4 = [[0, 1, 2, 3],
                        [1, 2, 3, 4],
                        [2, 3, 4, 5],
                        [0, 3, 4, 5],
                        [0, 1, 4, 5],
                        [0, 1, 2, 5],
                        [0, 1, 3, 4],
                        [1, 2, 4, 5],
                        [0, 2, 3, 5]]  # filter with 4 subset of input channels
        # put implementation here
        self.conv_3 = nn.ModuleList([nn.Conv2d(3, 1, 5) for _ in range(6)])
        self.conv_4 = nn.ModuleList([nn.Conv2d(4, 1, 5) for _ in range(9)])
        self.conv_6 = nn.Conv2d(6, 1, 5)

    def forward(self, x):
        assert x.shape[1] == 6
        # put implementation here
        outs = []
        for i in range(6):
            outs.append(self.conv_3[i](x[:, self.ch_in_3[i], :, :]))
        for i in range(9):
            outs.append(self.conv_4[i](x[:, self.ch_in_4[i], :, :]))
        outs.append(self.conv_6(x))
        return torch.cat(outs, dim=1)


'''
Step 3: LeNet
'''
class LeNet(nn.Module):
    def __init__(self):
        super(LeNet, self).__init__()
        # padding=2 makes 28x28 image into 32x32
        self.C1_layer = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2),
            nn.Tanh()
        )
        self.P2_layer = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Tanh()
        )
        self.C3_layer = nn.Sequential(
            C3_layer(),
            nn.Tanh()
        )
        self.P4_layer = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Tanh()
        )
        self.C5_layer = nn.Sequential(
            nn.Linear(5 * 5 * 16, 120),
            nn.Tanh()
        )
        self.F6_layer = nn.Sequential(
            nn.Linear(120, 84),
            nn.Tanh()
        )
        self.F7_layer = nn.Linear(84, 10)
        self.tanh = nn.Tanh()

    def forward(self, x):
        output = self.C1_layer(x)
        output = self.P2_layer(output)
        output = self.C3_layer(output)
        output = self.P4_layer(output)
        output = output.view(-1, 5 * 5 * 16)
        output = self.C5_layer(output)
        output = self.F6_layer(output)
        output = self.F7_layer(output)
        return output


model = LeNet().to(device)
loss_function = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)

'''
Step 4: train
'''
for epoch in range(10):
    for images, labels in train_loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        train_loss = loss_function(model(images), labels)
        train_loss.backward()
        optimizer.step()
    print(f"Epoch {epoch + 1}: last batch loss {train_loss.item():.4f}")

'''
Step 5: test
'''
test_loss, correct = 0, 0
total = len(test_loader.dataset)
for images, labels in test_loader:
    images, labels = images.to(device), labels.to(device)
    output = model(images)
    test_loss += loss_function(output, labels).item() * images.size(0)
    pred = output.max(1, keepdim=True)[1]
    correct += pred.eq(labels.view_as(pred)).sum().item()
print('[Test set] Average loss: {:.4f}, Accuracy: {}/{} ({:.2f}%)'.format(
    test_loss / total, correct, total, 100. * correct / total))

C3_layer_full_params = sum(p.numel() for p in C3_layer_full().parameters() if p.requires_grad)
C3_layer_params = sum(p.numel() for p in C3_layer().parameters() if p.requires_grad)
print("Number of trainable parameters of C3_layer_full:", C3_layer_full_params)
print("Number of trainable parameters of C3_layer:", C3_layer_params)
# 2416 vs 1516: 900 fewer, as by hand: 6*(3*25+1) + 9*(4*25+1) + (6*25+1) = 1516
