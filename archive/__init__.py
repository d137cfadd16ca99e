"""讲稿库 archive: index a shared folder of Chinese speeches and find every one that holds a phrase."""

__version__ = "0.1.0"
