// ZipArchive module.
