"""Reference models in eager PyTorch (the "torch twins" of trtnet models) and their data helpers."""
