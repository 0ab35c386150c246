<?php
// The test sites' configuration, instead of Debian's /etc/wordpress/config-HOST.php: the
// database on a socket in the state folder, the site's address taken from the request. The
// server started with SHOWCASE_WORDPRESS_PERMALINKS=plain reads a copy of the database whose
// Settings > Permalinks say "Plain".
$state = dirname(__DIR__);  // the docroot is STATE/docroot
define('DB_NAME', getenv('SHOWCASE_WORDPRESS_PERMALINKS') === 'plain' ? 'wordpress_plain' : 'wordpress');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', 'localhost:' . $state . '/mysqld.sock');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = 'wp_';
$host = $_SERVER['HTTP_HOST'] ?? (getenv('SHOWCASE_WORDPRESS_HOST') ?: '127.0.0.1');
define('WP_HOME', 'http://' . $host);
define('WP_SITEURL', 'http://' . $host);
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('AUTH_KEY', 'showcase-test'); define('SECURE_AUTH_KEY', 'showcase-test');
define('LOGGED_IN_KEY', 'showcase-test'); define('NONCE_KEY', 'showcase-test');
define('AUTH_SALT', 'showcase-test'); define('SECURE_AUTH_SALT', 'showcase-test');
define('LOGGED_IN_SALT', 'showcase-test'); define('NONCE_SALT', 'showcase-test');
define('DISABLE_WP_CRON', true);     // no loopback request to wp-cron.php on each page
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);  // never reach wordpress.org or anything else
define('WP_DEBUG', false);
if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
