"""Measures of scores and rankings that every room may use (a neutral room below data → … → cli):
AUC between two levels (auc) and ranx evaluation of a run against graded qrels (ranx_eval)."""
