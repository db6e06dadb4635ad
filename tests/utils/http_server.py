"""A local HTTP server for the download tests: serves in-memory files, counts requests,
answers Range requests with 206 (honouring If-Range against the file's ETag / Last-Modified),
and can cut a response short, ignore Range or If-Range, or send a wrong Content-Range."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    def __init__(self):
        self.files = {}          # url path ('/name') -> bytes
        self.requests = []       # (path, Range header or None)
        self.sent = []           # (path, number of body bytes sent)
        self.cut_after = {}      # path -> send only this many body bytes, then hang up
        self.ignore_range = False
        self.etags = {}          # path -> ETag header value (none sent if absent)
        self.last_modified = {}  # path -> Last-Modified header value (none sent if absent)
        self.honor_if_range = True
        self.if_ranges = []      # the If-Range header of each request (or None)
        self.range_shift = 0     # add this to the start in Content-Range (a broken server)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                range_header = self.headers.get('Range')
                if_range = self.headers.get('If-Range')
                with server.lock:
                    server.requests.append((self.path, range_header))
                    server.if_ranges.append(if_range)
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404, 'Not Found')
                    return
                start = 0
                validators = {server.etags.get(self.path),
                              server.last_modified.get(self.path)} - {None}
                if (if_range is not None and server.honor_if_range
                        and if_range not in validators):
                    range_header = None          # the file changed: send all of it (200)
                if range_header and not server.ignore_range:
                    start = int(range_header.split('=')[1].split('-')[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header('Content-Range', f'bytes */{len(data)}')
                        self.send_header('Content-Length', '0')
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header('Content-Range', f'bytes {start + server.range_shift}-'
                                                      f'{len(data) - 1}/{len(data)}')
                else:
                    self.send_response(200)
                if self.path in server.etags:
                    self.send_header('ETag', server.etags[self.path])
                if self.path in server.last_modified:
                    self.send_header('Last-Modified', server.last_modified[self.path])
                body = data[start:]
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                cut = server.cut_after.get(self.path)
                if cut is not None:
                    body = body[:cut]
                self.wfile.write(body)
                with server.lock:
                    server.sent.append((self.path, len(body)))

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={'poll_interval': 0.01}, daemon=True)
        self.thread.start()

    def url(self, name=''):
        host, port = self.httpd.server_address[:2]
        return f'http://{host}:{port}/{name}'

    def count(self, name):
        return sum(1 for path, _ in self.requests if path == '/' + name)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
