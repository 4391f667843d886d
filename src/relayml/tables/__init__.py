"""Dataset files: how any input becomes a normalized Parquet file, read back in batches, and its
content digest. Pure pyarrow, no store: clients prepare files with it, services read them."""
