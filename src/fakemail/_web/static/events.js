// The live event stream (Mailpit's /api/events websocket): {Type, Data} frames. Reconnects
// with backoff; after a reconnect the caller reloads, since events are not replayed.

export class EventStream {
  /**
   * @param {string} address  ws:// URL
   * @param {{onEvent: (type: string, data: any) => void,
   *          onState: (state: "connecting"|"live"|"offline") => void,
   *          onReconnect: () => void}} handlers
   */
  constructor(address, handlers) {
    this.address = address;
    this.handlers = handlers;
    this.delay = 250;
    this.everConnected = false;
    this.socket = null;
    this.connect();
  }

  connect() {
    this.handlers.onState("connecting");
    let socket;
    try {
      socket = new WebSocket(this.address);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = 250;
      this.handlers.onState("live");
      if (this.everConnected) this.handlers.onReconnect();
      this.everConnected = true;
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame.Type === "string") this.handlers.onEvent(frame.Type, frame.Data);
    });
    socket.addEventListener("close", () => {
      this.handlers.onState("offline");
      this.retry();
    });
  }

  retry() {
    setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 5000);
  }
}
