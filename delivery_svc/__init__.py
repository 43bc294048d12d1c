"""delivery_svc: pickup points, courier quotes, delivery slot holds, and the delivery case the
saga opens on CONFIRM and cancels on REVERSE."""
