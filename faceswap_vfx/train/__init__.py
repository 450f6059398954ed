"""Training: datasets of aligned crops, augmentation, the progressive schedule, the loop."""
