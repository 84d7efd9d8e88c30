"""Shared test settings.

The tests use small tensors, for which one thread is much faster than several fighting over two CPU
cores (a tiny float64 softmax: ~2.5 us with 1 thread, ~20 ms with 2 on a loaded CI machine).
"""

import torch

torch.set_num_threads(1)
