# A minimal Debian root file system (debootstrap --variant=minbase), made into an image by
# scripts/build-images.sh: the context holds rootfs.tar (with policy-rc.d, no docs, apt lists emptied).
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["bash"]
