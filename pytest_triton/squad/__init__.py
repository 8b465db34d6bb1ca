"""SQuAD v1.1 / v2.0 accuracy: data files, BERT features, post-processing, official metrics, a tiny QA model."""
