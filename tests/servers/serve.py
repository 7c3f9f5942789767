"""What every loopback test server here does once its handler is ready:
listen on 127.0.0.1 (port 0 = any free one), optionally TLS, publish the port
atomically in a file (tests wait for it to be non-empty), serve threads.
Python standard library only."""
import os
from http.server import ThreadingHTTPServer


def serve(handler, port=0, port_file=None, ssl_context=None):
    srv = ThreadingHTTPServer(("127.0.0.1", port), handler)
    srv.daemon_threads = True
    if ssl_context is not None:
        srv.socket = ssl_context.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    if port_file:
        with open(port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(port_file + ".tmp", port_file)
    print("PORT %d" % port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
