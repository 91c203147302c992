"""Detection II: LLM quality, groundedness, attack rates, RAG and training-data poisoning,
agent behaviour. Aggregates live beside their detectors; both plug into the monitor's
windows through the contract in firebreak.detect.base."""
