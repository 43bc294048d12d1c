"""store_svc: catalog from the product feed, search, product cards, stock per warehouse,
pre-reservations at checkout, the saga's STORE step (booking and picking cases) and the
warehouse's picking (store_svc.warehouse_sim plays the warehouse staff).

Decisions, in one place:
- Price: the feed's `cost` is the net price and `tax` the tax amount on it, both in kopecks;
  the shelf price is `cost + tax`. An admin discount (whole percent, 0..99) gives the price
  to pay, rounded half up to a kopeck; a card's `price` is that price, `discount` shows both.
- Search: every query word must start a word of the name or description (case-folded, yo
  read as ie). SecantusDB has no text index and does not serve regexes from an index, so the
  longest word is a range query on the multikey index `searchTokens`; the other words are
  checked on those candidates only. Paging, sorting and counting happen in the database.
- Stock line per (product, warehouse): `onHand` (units for sale, reserved included), `reserved`,
  `booked` (confirmed, awaiting picking: no longer on hand), `shipped` (handed over to delivery),
  `writtenOff` (damaged or lost: gone for good) and `available = onHand - reserved`, stored so
  that "never oversell" is the filter `available >= quantity` of one update.
- Conservation, per line, always: `onHand + booked + shipped + writtenOff == received`, where
  `received` (stored on the line) only changes by a count (feed or admin), by the difference
  the count makes to `onHand`. Every other move shifts units between those four counters.
- Picking case per booked order: created -> picking -> picked -> handed_over, or damaged (from
  picking or picked); the saga's REVERSE ends it cancelled (a damaged or handed-over one keeps
  that status, with the REVERSE in its history). Its
  effects travel with the move: picking -> the order is ASSEMBLING; handed_over -> booked units
  become shipped and delivery gets the parcel; damaged -> the order is CANCELLED (WRITE_OFF).
- REVERSE of a booked order by its case: still in the warehouse -> booked units back on hand
  (RESTOCK) or written off (WRITE_OFF); handed over -> shipped units back on hand (the parcel
  came back) or written off (lost); damaged -> the damaged units written off whatever the
  disposition, the rest back on hand. A second REVERSE changes nothing.
- A paid order's pre-reservation is kept until the order's `HoldExtension` says (never
  shortened); only a RESERVED one is extended.
- Picking rule: warehouses by available units, most first (ties by id), taking from each in
  turn: one warehouse whenever one can serve the whole quantity, otherwise the fewest.
- On-hand below reserved: an admin's count is refused (409); a warehouse feed count cannot be
  refused, so it is clamped to the reserved units (reservations given are honoured).
- A reservation's status only moves by a write conditional on the status it was read in, in
  one transaction with the stock it moves, so the expiry sweeper and a CONFIRM never both win.
"""
