"""What the repository's own CI needs from the platform's rules: the stacks to run, and who must approve a change."""
