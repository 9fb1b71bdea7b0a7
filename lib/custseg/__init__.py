"""custseg: customer segmentation (RFM and MLlib clustering) on Spark and Delta Lake."""

__version__ = "0.1.0"
