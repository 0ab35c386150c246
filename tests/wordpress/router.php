<?php
// PHP's built-in server serving WordPress as nginx's `try_files $uri $uri/ /index.php?$args`
// does: a file that exists is served (or run, for .php), every other path goes to WordPress's
// index.php, which routes pretty permalinks and /wp-json/ itself.
$path = urldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if ($path !== '/' && is_file($_SERVER['DOCUMENT_ROOT'] . $path)) {
    return false;
}
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . '/index.php';
$_SERVER['PHP_SELF'] = '/index.php';
require $_SERVER['SCRIPT_FILENAME'];
