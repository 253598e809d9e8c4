/// The site's stylesheet, served at `/static/style.css` (inline styles are refused by the CSP).
enum Stylesheet {
    static let css = """
        body { font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; }
        nav a, nav .brand { margin-right: 0.6em; }
        form.inline { display: inline; }
        button.link { background: none; border: none; padding: 0; color: #0645ad; text-decoration: underline; cursor: pointer; font: inherit; }
        .error { color: #b00; }
        .flashes { background: #eef6ee; padding: 0.5em 1.5em; }
        table.post { margin: 0.4em 0; }
        table.post td { vertical-align: top; padding-right: 0.5em; }
        .pagination a { margin-right: 1em; }
        .reference { color: #666; font-size: 0.9em; }
        pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; }
        """
}
