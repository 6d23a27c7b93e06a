"""Generated samples and prepared datasets as JSONL files under the home's data/ folder."""
