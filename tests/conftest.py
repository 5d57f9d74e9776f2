import pytest
import torch

# The suite's tensors are tiny: one intra-op thread is faster, and immune to OpenMP spin-waiting when the machine
# is busy (two threads on a loaded 2-core machine made a 0.2 s generation take 56 s).
torch.set_num_threads(1)


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


def pytest_collection_modifyitems(config, items):
    """GPU-marked tests run only where CUDA exists (scripts/gpu_check.sh runs them on a GPU machine)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
