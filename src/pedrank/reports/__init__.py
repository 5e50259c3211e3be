"""The reports layer: tables and plots of rankings and benchmark grids."""
