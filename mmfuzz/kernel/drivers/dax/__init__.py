"""drivers/dax: device DAX."""
