"""The Mine & Refine training recipe: losses, batching, augmentation, synthetic queries, stage-1/2 training."""
