"""Customers: the records staff keep of the people who chat with them."""
