"""A class of a .py file imported without the file's top level (grader/ingest/extract.py)."""

from __future__ import annotations

import ast
import textwrap

from grader.ingest.extract import class_module

STARTER = textwrap.dedent(
    '''\
    """HW4 P7 as students keep the starter."""
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms
    from sklearn.model_selection import train_test_split

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_set = datasets.MNIST(root="./mnist_data/", download=True)
    loader = DataLoader(train_set, batch_size=64)
    N_ALL = 6


    def conv(c_in):
        return nn.Conv2d(c_in, 1, 5)


    class Helper(nn.Module):
        pass


    class C3_layer(nn.Module):
        def __init__(self):
            super(C3_layer, self).__init__()
            self.full = conv(N_ALL)
            self.extra = Helper()

        def forward(self, x):
            return self.full(x.to(device))


    model = C3_layer()
    for epoch in range(10):
        for x, y in loader:
            print(model(x))
    if __name__ == "__main__":
        print("done")
    '''
)
AVAILABLE = {"torch", "numpy"}


#: What the course declares (its course.yaml's `environment: packages`), by import name.
DECLARED = {"torchvision", "sklearn", "torchsummary"}


def extracted(source: str = STARTER, available: set[str] = AVAILABLE, **kwargs):
    kwargs.setdefault("is_declared", lambda p: p in DECLARED)
    return class_module(source, "C3_layer", is_available=lambda p: p in available, **kwargs)


def kept_statements(source: str) -> list[str]:
    return [ast.unparse(s).splitlines()[0] for s in ast.parse(source).body]


def test_the_class_keeps_what_it_reads_and_loses_downloads_and_training() -> None:
    module = extracted()
    assert module is not None and module.needs == ()
    kept = kept_statements(module.source)
    assert kept == [
        "'HW4 P7 as students keep the starter.'",
        "import torch",
        "import torch.nn as nn",
        "from torch.utils.data import DataLoader",
        "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')",
        "N_ALL = 6",
        "def conv(c_in):",
        "class Helper(nn.Module):",
        "class C3_layer(nn.Module):",
        "if __name__ == '__main__':",
    ]


def test_kept_lines_keep_their_numbers() -> None:
    """A traceback from the sandbox points at the student's own line."""
    module = extracted()
    assert module is not None
    original, generated = STARTER.splitlines(), module.source.splitlines()
    assert len(original) == len(generated)
    for before, after in zip(original, generated, strict=True):
        assert after in (before, "")
    assert original.index("class C3_layer(nn.Module):") == generated.index(
        "class C3_layer(nn.Module):"
    )
    assert "lines 5-6, 9-10, 32-35" in module.describe("lenet.py")


def test_a_declared_package_the_class_reads_goes_to_a_ta() -> None:
    source = STARTER.replace("self.full = conv(N_ALL)", "self.full = transforms.Normalize(0, 1)")
    module = extracted(source)
    assert module is not None and module.needs == ("torchvision",)
    assert "from torchvision import datasets, transforms" in module.source


def test_an_undeclared_package_is_not_the_environment_s_shortcoming() -> None:
    """Which packages are coursework's is the course's to say: undeclared, the import stays and
    the probe reports the ModuleNotFoundError."""
    source = STARTER.replace("self.full = conv(N_ALL)", "self.full = transforms.Normalize(0, 1)")
    module = extracted(source, is_declared=lambda p: False)
    assert module is not None and module.needs == ()
    assert "from torchvision import datasets, transforms" in module.source


def test_an_available_package_keeps_its_import_even_unused() -> None:
    module = extracted(available=AVAILABLE | {"torchvision"})
    assert module is not None
    assert "from torchvision import datasets, transforms" in module.source
    assert "train_test_split" not in module.source


def test_an_undeclared_missing_module_stays_for_the_probe_to_report() -> None:
    """Most likely the student's own helper module, left out: a ModuleNotFoundError, as before."""
    source = STARTER.replace("import torch\n", "import torch\nfrom my_utils import conv2\n", 1)
    source = source.replace("conv(N_ALL)", "conv2(N_ALL)")
    module = extracted(source)
    assert module is not None and module.needs == ()
    assert "from my_utils import conv2" in module.source
    local = extracted(source, is_local=lambda name: name == "my_utils")
    assert local is not None and "from my_utils import conv2" in local.source


def test_nothing_to_leave_out_imports_the_file_as_it_is() -> None:
    plain = "import torch.nn as nn\n\n\nclass C3_layer(nn.Module):\n    pass\n"
    assert extracted(plain) is None
    guarded = plain + '\n\nif __name__ == "__main__":\n    print(C3_layer())\n'
    assert extracted(guarded) is None  # importing never runs the guarded block
    module = extracted(guarded + "print(C3_layer())\n")
    assert module is not None and module.source == guarded + "\n"


def test_files_it_cannot_judge_are_imported_as_they_are() -> None:
    assert extracted("class C3_layer(:\n") is None  # the probe reports the syntax error
    nested = "if True:\n    class C3_layer:\n        pass\nx = 1\n"
    assert extracted(nested) is None
    assert extracted("x = 1\n") is None


def test_a_helper_defined_after_the_class_and_state_it_changes_are_kept() -> None:
    source = textwrap.dedent(
        """\
        import sys
        import torch
        sys.path.append("..")
        torch.set_default_dtype(torch.float64)
        data = torch.randn(100)

        class C3_layer(torch.nn.Module):
            def forward(self, x):
                return helper(x) + SCALE

        SCALE = 2.0; junk = print("hi")

        def helper(x):
            return x * data.mean()

        print(C3_layer()(data))
        """
    )
    module = extracted(source)
    assert module is not None
    kept = kept_statements(module.source)
    assert "data = torch.randn(100)" in kept  # read by helper, which the class reads
    assert "sys.path.append('..')" in kept and "torch.set_default_dtype(torch.float64)" in kept
    assert "SCALE = 2.0" in kept and "junk = print('hi')" in kept  # one line: kept whole
    assert kept[-1] == "def helper(x):"
    assert extracted(source.replace("helper(x) + SCALE", "x")) is not None
