"""Training: datasets of aligned crops, augmentation, the progressive schedule, the loop.

Modules, lowest first: ``schedule`` (growth as a pure function of images seen), ``config``
(the frozen run configuration), ``manifest`` (the dataset folder format), ``dataset``
(crops and masks in memory), ``sampler`` (balanced, seeded, shardable draws), ``augment``,
``checkpoint``, ``preview``, ``feedback`` (progress, logs, scalars), ``loop`` (the training
loop). Importing this package imports nothing heavy; import the modules.
"""
