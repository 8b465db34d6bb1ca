"""Image classification data: the standard preprocessing, the synthetic task, ImageNet-style folders."""
