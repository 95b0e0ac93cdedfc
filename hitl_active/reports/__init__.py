"""Reports read from a workspace: the learning curve and its Markdown report, the team's skill
section and matrix, and the practice chart."""
