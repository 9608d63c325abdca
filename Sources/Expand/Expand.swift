// Expand module.
