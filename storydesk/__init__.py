"""storydesk: evidence-linked briefings from piles of news articles."""
__version__ = "0.1.0"
