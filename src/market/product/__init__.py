"""The product service: sellers, the catalog, stock, and the stock each order holds."""
