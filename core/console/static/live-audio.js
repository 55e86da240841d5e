/* AudioWorklet of the Live page: hands each block of microphone samples (mono, the context's 16 kHz) to
   the page, which sends them to the stream as 16-bit PCM. */
class PcmCapture extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel && channel.length) {
      this.port.postMessage(channel.slice(0));
    }
    return true;
  }
}
registerProcessor("pcm-capture", PcmCapture);
