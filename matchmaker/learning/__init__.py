"""Learning from the office and the parties: stated interest, the scorer setting, the learned
re-ranker trained on decisions, and explanations of what it changed."""
