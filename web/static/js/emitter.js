// The smallest observer: on(event, fn) returns an unsubscribe function; emit calls each fn.

export class Emitter {
  constructor() {
    this.listeners = new Map();
  }

  on(event, handler) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(handler);
    return () => this.listeners.get(event).delete(handler);
  }

  emit(event, ...args) {
    for (const handler of [...(this.listeners.get(event) || [])]) {
      try {
        handler(...args);
      } catch (error) {
        console.error(`listener for ${event} failed`, error);
      }
    }
  }
}
