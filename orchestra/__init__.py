"""orchestra: the saga that confirms payment, stock and delivery of a paid order together, or
compensates every participant when one of them fails or does not answer in time."""
