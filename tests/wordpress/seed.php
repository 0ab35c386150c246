<?php
// Installs the test site and fills it, from the command line: `php seed.php DOCROOT install`,
// then `php seed.php DOCROOT posts`, then `php seed.php DOCROOT embed` (the showcase-embed
// plugin, see the phase below); `php seed.php DOCROOT plain` switches a copy of the site
// to plain permalinks, as Settings > Permalinks > Plain does. Two processes, because wp_install() runs under
// WP_INSTALLING, which changes how WordPress caches options for the rest of the process.
//
// What the site holds (tests/test_website_real.py asserts on it):
// - the tag "Flächenglühen" (slug flaechengluehen) on 120 published posts, numbered 1..120 in
//   their titles; post n has the featured image IMAGES[n % 3] unless n % 4 == 0;
// - in the tag, too: a password-protected post, a draft, a private and a scheduled post;
// - 5 published posts without the tag;
// - HTML entities and markup in titles, excerpts cut by WordPress after 55 words.
[$script, $docroot, $phase] = $argv + [null, null, null];
$_SERVER['HTTP_HOST'] = getenv('SHOWCASE_WORDPRESS_HOST') ?: '127.0.0.1';
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

if ($phase === 'install') {
    define('WP_INSTALLING', true);
    function wp_new_blog_notification() {}  // pluggable: no mail about the new site
    require $docroot . '/wp-load.php';
    require_once ABSPATH . 'wp-admin/includes/upgrade.php';
    $result = wp_install('Kreatives Sachsen (Test)', 'admin', 'admin@example.org', true, '',
        wp_generate_password(24), 'en_US');
    update_option('timezone_string', 'Europe/Berlin');
    update_option('template', 'twentytwentythree');
    update_option('stylesheet', 'twentytwentythree');
    update_option('uploads_use_yearmonth_folders', 1);
    echo "installed, admin user {$result['user_id']}\n";
    exit(0);
}
if ($phase === 'plain') {
    require $docroot . '/wp-load.php';
    global $wp_rewrite;
    $wp_rewrite->set_permalink_structure('');
    $wp_rewrite->flush_rules(false);
    echo "plain permalinks\n";
    exit(0);
}
if ($phase === 'embed') {
    // For tests/test_embedding.py: embed/wordpress/showcase-embed active, reading
    // DOCROOT/showcase/fragment.html (the folder is served at /showcase/, as a showcase output
    // folder beside WordPress would be), a page with the [showcase] shortcode (/videoreihe/),
    // and a page with the README's iframe lines in a Custom HTML block (/videoreihe-iframe/)
    // whose embed.html comes from another origin, $SHOWCASE_WORDPRESS_EMBED_ORIGIN.
    require $docroot . '/wp-load.php';
    require_once ABSPATH . 'wp-admin/includes/plugin.php';
    wp_set_current_user(1);  // an administrator: the Custom HTML block keeps its <script>
    $activated = activate_plugin('showcase-embed/showcase-embed.php');
    if (is_wp_error($activated)) {
        fwrite(STDERR, $activated->get_error_message() . "\n");
        exit(1);
    }
    update_option('showcase_embed_fragment', $docroot . '/showcase/fragment.html');
    $paragraph = fn(string $text) => "<!-- wp:paragraph -->\n<p>$text</p>\n<!-- /wp:paragraph -->\n";
    $snippet = str_replace('https://www.kreatives-sachsen.de/showcase/embed.html',
        getenv('SHOWCASE_WORDPRESS_EMBED_ORIGIN') . '/showcase/embed.html',
        file_get_contents(dirname(__DIR__, 2) . '/docs/iframe-snippet.html'));
    $pages = [
        'videoreihe' => ['Unsere Videoreihe', "<!-- wp:shortcode -->\n[showcase]\n<!-- /wp:shortcode -->\n"],
        'videoreihe-iframe' => ['Videoreihe im iframe', "<!-- wp:html -->\n$snippet<!-- /wp:html -->\n"],
    ];
    foreach ($pages as $slug => [$title, $block]) {
        $id = wp_insert_post(['post_type' => 'page', 'post_status' => 'publish', 'post_name' => $slug,
            'post_title' => $title, 'post_content' => $paragraph('Ein Absatz des Themes davor.')
                . $block . $paragraph('Und einer danach.')], true);
        if (is_wp_error($id)) {
            fwrite(STDERR, $id->get_error_message() . "\n");
            exit(1);
        }
    }
    echo "showcase-embed active, pages /videoreihe/ and /videoreihe-iframe/\n";
    exit(0);
}
if ($phase !== 'posts') {
    fwrite(STDERR, "usage: php seed.php DOCROOT install|posts|embed|plain\n");
    exit(2);
}

require $docroot . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/image.php';
wp_set_current_user(1);  // an administrator, as an editor's posts are: titles keep their HTML
wp_defer_term_counting(true);

global $wp_rewrite;
$wp_rewrite->set_permalink_structure('/%year%/%monthnum%/%postname%/');
$wp_rewrite->flush_rules(false);

const IMAGES = [
    // file name => [width, height]: a big upload gets every size (medium_large 768 and large
    // 1024 among them), a middle one no "large", a small one neither medium_large nor large.
    'werkstatt.jpg' => [1920, 1080],
    'atelier.jpg' => [800, 450],
    'portraet.jpg' => [400, 300],
];

function make_image(string $name, int $width, int $height): int {
    $uploads = wp_upload_dir('2017/06');
    $path = $uploads['path'] . '/' . $name;
    $image = imagecreatetruecolor($width, $height);
    imagefilledrectangle($image, 0, 0, $width, $height, imagecolorallocate($image, 200, 90, 30));
    imagejpeg($image, $path, 80);
    $id = wp_insert_attachment([
        'post_mime_type' => 'image/jpeg',
        'post_title' => pathinfo($name, PATHINFO_FILENAME),
        'post_status' => 'inherit',
        'post_date' => '2017-06-27 10:00:00',
    ], $path, 0, true);
    if (is_wp_error($id)) {
        fwrite(STDERR, $id->get_error_message() . "\n");
        exit(1);
    }
    wp_update_attachment_metadata($id, wp_generate_attachment_metadata($id, $path));
    return $id;
}

function add_post(array $fields, array $tags, int $image = 0): int {
    $id = wp_insert_post($fields + ['post_status' => 'publish', 'post_type' => 'post'], true);
    if (is_wp_error($id)) {
        fwrite(STDERR, $id->get_error_message() . "\n");
        exit(1);
    }
    wp_set_post_terms($id, $tags, 'post_tag');
    if ($image) {
        set_post_thumbnail($id, $image);
    }
    return $id;
}

function content(int $n): string {
    $words = str_repeat('Ein Gespräch über Werkstatt, Material und Nachbarschaft im Erzgebirge. ', 9);
    return "<!-- wp:paragraph -->\n<p>Porträt $n: $words</p>\n<!-- /wp:paragraph -->";
}

$tag = wp_insert_term('Flächenglühen', 'post_tag', ['slug' => 'flaechengluehen']);
$other = wp_insert_term('Kunst', 'post_tag', ['slug' => 'kunst']);
$series = $tag['term_id'];
$images = [];
foreach (IMAGES as $name => [$width, $height]) {
    $images[] = make_image($name, $width, $height);
}

$special = [
    1 => 'Kunst &amp; Design – „Glühen“',
    2 => 'Lena Hoang: "Zeichnen ist Nachbarschaft" -- ein Gespräch',
    3 => 'Im <em>Musikwinkel</em> zu Hause &#8211; Folge 3',
];
$start = strtotime('2017-06-27 08:00:00 UTC');
for ($n = 1; $n <= 120; $n++) {
    $gmt = gmdate('Y-m-d H:i:s', $start + $n * 7 * 86400);
    add_post([
        'post_title' => $special[$n] ?? "Flächenglühen $n: Porträt aus Sachsen",
        'post_content' => content($n),
        'post_name' => "flaechengluehen-$n",
        'post_date' => get_date_from_gmt($gmt),
        'post_date_gmt' => $gmt,
    ], [$series], $n % 4 === 0 ? 0 : $images[$n % 3]);
}
$late = gmdate('Y-m-d H:i:s', $start + 125 * 7 * 86400);
$hidden = [
    ['post_title' => 'Geschützt im Gespräch', 'post_password' => 'geheim'],
    ['post_title' => 'Noch ein Entwurf', 'post_status' => 'draft'],
    ['post_title' => 'Nur für Angemeldete', 'post_status' => 'private'],
    ['post_title' => 'Kommt noch', 'post_status' => 'future',
     'post_date_gmt' => '2099-01-01 10:00:00', 'post_date' => '2099-01-01 11:00:00'],
];
foreach ($hidden as $fields) {
    add_post($fields + ['post_content' => content(0), 'post_date_gmt' => $late,
                        'post_date' => get_date_from_gmt($late)], [$series], $images[0]);
}
for ($n = 1; $n <= 5; $n++) {
    add_post(['post_title' => "Anderes Thema $n", 'post_content' => content($n)],
             $n === 1 ? [$other['term_id']] : [], $images[0]);
}
wp_defer_term_counting(false);
printf("seeded: tag %d, %d images, %d posts\n", $series, count($images),
       wp_count_posts()->publish);
