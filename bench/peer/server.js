// The peer for the fanout workload: socket.io 4.8 + @socket.io/redis-adapter 8.3, one process per
// port; every "m" event is broadcast to every socket of every process, the sender included.
const { createServer } = require('http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');
const port = Number(process.argv[2]);
const redisUrl = process.argv[3] || 'redis://127.0.0.1:6379';
const key = process.argv[4] || 'peerbench';
// The adapter publishes without awaiting (pubClient.publish(...) with no catch): when Redis dies,
// the commands in flight reject, and Node.js ends the process on an unhandled rejection. A
// deployment logs them and goes on; so does this peer (counted, one line per second at most).
let rejections = 0;
let reported = 0;
process.on('unhandledRejection', (err) => {
  rejections++;
  const now = Date.now();
  if (now - reported >= 1000) {
    reported = now;
    console.log('unhandled rejection #' + rejections + ': ' + (err && err.message));
  }
});
(async () => {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = createServer();
  const io = new Server(httpServer, { transports: ['websocket'], adapter: createAdapter(pub, sub, { key }) });
  io.on('connection', (socket) => { socket.on('m', (msg) => io.emit('m', msg)); });
  httpServer.listen(port, '127.0.0.1', () => console.log('ready on ' + port));
})();
