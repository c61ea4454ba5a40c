"""Staff accounts as their organisation's admins manage them."""
