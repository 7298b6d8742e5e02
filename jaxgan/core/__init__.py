"""The floor every layer stands on: errors, files, devices, images."""
