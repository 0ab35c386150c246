<?php
/**
 * Plugin Name:       Showcase Embed
 * Description:       The [showcase] shortcode: shows the showcase that `showcase render` writes on this server (its fragment.html), read from disk on each view. No request to any other host.
 * Version:           1.0.0
 * Requires at least: 5.0
 * Requires PHP:      7.4
 * License:           MIT
 *
 * Where fragment.html is: the constant SHOWCASE_FRAGMENT in wp-config.php, for example
 *   define('SHOWCASE_FRAGMENT', '/srv/showcase/public/fragment.html');
 * else the field "Showcase: fragment.html" under Settings > Reading. Only an administrator can
 * set either; the shortcode takes no path, so no author can make a page read another file.
 *
 * When the file is missing, empty or was rendered without `output.base_url` (its images would
 * point nowhere on this page), visitors get an HTML comment and editors a visible notice on
 * the page: a broken showcase is never silent.
 */

defined('ABSPATH') || exit;

const SHOWCASE_EMBED_OPTION = 'showcase_embed_fragment';

function showcase_embed_path(): string {
    if (defined('SHOWCASE_FRAGMENT')) {
        return (string) constant('SHOWCASE_FRAGMENT');
    }
    return (string) get_option(SHOWCASE_EMBED_OPTION, '');
}

/** What is wrong with the configured fragment, or '' when it can be shown. */
function showcase_embed_problem(string $path, ?string $html): string {
    if ($path === '') {
        return 'no fragment.html configured (Settings > Reading, or SHOWCASE_FRAGMENT in wp-config.php)';
    }
    if ($html === null || trim($html) === '') {
        return 'fragment.html cannot be read or is empty: run showcase render, and check that the web server may read it';
    }
    // Rendered without base_url, image and privacy paths are relative ("thumbs/…"): on this
    // page they would resolve against the page's own address.
    if (preg_match('/\s(?:src|srcset|href)="(?![a-z][a-z0-9+.\-]*:|\/)/i', $html)) {
        return 'fragment.html was rendered without output.base_url: its images and links point nowhere on this page';
    }
    return '';
}

function showcase_embed_read(string $path): ?string {
    // fragment.html is a link into the render's current generation, switched by each render.
    // PHP remembers resolved paths (realpath_cache_ttl, 120 s by default in PHP-FPM): without
    // this, it would open the previous generation's file, gone after the switch, and fail.
    clearstatcache(true);
    if ($path === '' || !is_file($path) || !is_readable($path)) {
        return null;
    }
    // A generation is never rewritten in place: a read sees the file whole.
    $html = file_get_contents($path);
    return $html === false ? null : $html;
}

function showcase_embed_notice(string $problem): string {
    $comment = '<!-- showcase: ' . str_replace('--', '-', $problem) . ' -->';
    if (!current_user_can('edit_pages')) {
        return $comment;
    }
    return $comment . '<p class="showcase-embed-problem" role="alert" style="border:2px solid #b32d2e;padding:.5em 1em">'
        . 'Showcase: ' . esc_html($problem) . ' (only editors see this)</p>';
}

function showcase_embed_shortcode(): string {
    $path = showcase_embed_path();
    $html = showcase_embed_read($path);
    $problem = showcase_embed_problem($path, $html);
    if ($problem === '') {
        return $html;
    }
    // A fragment with relative links still shows its cards and texts; only the images break.
    return ($html !== null && trim($html) !== '' ? $html : '') . showcase_embed_notice($problem);
}
add_shortcode('showcase', 'showcase_embed_shortcode');

// WordPress's emoji script swaps every emoji on the page, the showcase's titles and its
// "⚠ veraltet" too, for an image from s.w.org in a browser that lacks the glyph: a request to
// another host, which the showcase promises its visitors not to make. It is printed in the
// <head>, before the content is known, so pages holding [showcase] are recognised first.
add_action('wp', function (): void {
    $post = get_queried_object();
    if ($post instanceof WP_Post && has_shortcode($post->post_content, 'showcase')) {
        showcase_embed_without_emoji_images();
    }
});

/** Call from a theme that includes fragment.html itself (readfile), before wp_head(). */
function showcase_embed_without_emoji_images(): void {
    remove_action('wp_head', 'print_emoji_detection_script', 7);
    remove_action('wp_print_styles', 'print_emoji_styles');
}

// -- Settings > Reading: the path, and whether the file is there --------------------------------

function showcase_embed_sanitize($value): string {
    $value = trim((string) $value);
    if ($value !== '' && ($value[0] !== '/' || substr($value, -5) !== '.html')) {
        add_settings_error(SHOWCASE_EMBED_OPTION, 'showcase-path',
            'Showcase: the path must be absolute and end in .html, such as /srv/showcase/public/fragment.html.');
        return (string) get_option(SHOWCASE_EMBED_OPTION, '');
    }
    return $value;
}

function showcase_embed_field(): void {
    $path = showcase_embed_path();
    if (defined('SHOWCASE_FRAGMENT')) {
        echo '<code>' . esc_html($path) . '</code> (SHOWCASE_FRAGMENT in wp-config.php)';
    } else {
        printf('<input type="text" class="regular-text code" name="%s" value="%s" placeholder="/srv/showcase/public/fragment.html">',
            esc_attr(SHOWCASE_EMBED_OPTION), esc_attr($path));
    }
    $problem = showcase_embed_problem($path, showcase_embed_read($path));
    $state = $problem === ''
        ? 'Written ' . wp_date('Y-m-d H:i', (int) filemtime($path)) . '. Put [showcase] where it belongs.'
        : $problem;
    echo '<p class="description">' . esc_html($state) . '</p>';
}

add_action('admin_init', function (): void {
    register_setting('reading', SHOWCASE_EMBED_OPTION, [
        'type' => 'string',
        'sanitize_callback' => 'showcase_embed_sanitize',
        'default' => '',
    ]);
    add_settings_field(SHOWCASE_EMBED_OPTION, 'Showcase: fragment.html', 'showcase_embed_field',
        'reading', 'default', ['label_for' => SHOWCASE_EMBED_OPTION]);
});
