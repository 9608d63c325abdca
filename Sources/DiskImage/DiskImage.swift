// DiskImage module.
