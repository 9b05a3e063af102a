"""Dialogs and first-run panels: providers and keys, settings, welcome.

How the app opens them (``demo.py`` wires all of it and runs with
``python -m app.ui.dialogs.demo --data-dir DIR``)::

    ProvidersDialog(registry, keys, parent, presets=..., models_cache=..., settings=...).show()
    SettingsDialog(settings_store, registry, models_cache, parent).show()
    welcome = WelcomePanel(registry, presets)        # signals: providers_requested,
                                                     # settings_requested, provider_added(id)
    notifier = SettingsNotifier(settings_store, parent)   # changed(Settings, frozenset[str])

Every dialog is non-modal (``show()``), owns its async work in a ``TaskOwner`` and never
runs a nested event loop inside a coroutine.
"""
