// MSIX module.
