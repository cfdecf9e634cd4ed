"""Corpora that ship with the code, one folder each (as nanoGPT's data/<name>/)."""
