"""Night Owl content: the recovery network map and lookups by text.

Message handlers need only these::

    store = ContentStore()                     # load + validate content/data
    network = store.network                    # one immutable snapshot per message
    query = parse_query(text, network.places)  # None: not a lookup, send to a person
    result = search(network, query, now_utc, location=None)
    format_sms(result, page) / format_details(pick(result, n)) / format_telegram(result, page)
"""
