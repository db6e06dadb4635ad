"""A local HTTP server for the download tests: serves in-memory files, counts requests,
answers Range requests with 206, and can cut a response short or ignore Range."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    def __init__(self):
        self.files = {}          # url path ('/name') -> bytes
        self.requests = []       # (path, Range header or None)
        self.sent = []           # (path, number of body bytes sent)
        self.cut_after = {}      # path -> send only this many body bytes, then hang up
        self.ignore_range = False
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                range_header = self.headers.get('Range')
                with server.lock:
                    server.requests.append((self.path, range_header))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404, 'Not Found')
                    return
                start = 0
                if range_header and not server.ignore_range:
                    start = int(range_header.split('=')[1].split('-')[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header('Content-Range', f'bytes */{len(data)}')
                        self.send_header('Content-Length', '0')
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header('Content-Range',
                                     f'bytes {start}-{len(data) - 1}/{len(data)}')
                else:
                    self.send_response(200)
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
